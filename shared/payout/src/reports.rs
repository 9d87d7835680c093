//! The run's CSV reports, the same offline (`settlepaisa settle`) and in the cloud
//! (`settle-cycle`): a batch's lines and what carried forward.

use crate::cycle::{Batch, Carried};

pub const LINES_HEADER: &str = "settlement_id,kind,ref,amount_paise,fee_paise,gst_paise";
pub const CARRIED_HEADER: &str = "merchant_id,cycle_date,reason,net_paise";

/// `settlement_lines.csv` rows of a batch (no header).
pub fn line_rows(b: &Batch) -> String {
    let mut out = String::new();
    for l in &b.lines {
        out.push_str(&format!(
            "{},{},{},{},{},{}\n",
            b.settlement_id,
            l.kind.as_str(),
            l.reference,
            l.amount.0,
            l.fee.0,
            l.gst.0
        ));
    }
    out
}

/// `carried_forward.csv`, header included.
pub fn carried_csv(carried: &[Carried]) -> String {
    let mut out = format!("{CARRIED_HEADER}\n");
    for c in carried {
        out.push_str(&format!("{},{},{},{}\n", c.merchant_id, c.cycle_date, c.reason, c.net.0));
    }
    out
}
