"""DuckDB peer: the same reconciliation rules as `settlepaisa recon`, in SQL.

Reads the PG export and the bank statements (layout found from the header row, as the Rust
engine does), normalizes them in SQL (dates, Indian-grouped amounts, UTR by pattern from the
reference column or the narration), then matches: UTR groups (duplicates, amount mismatches,
scored pairs), a fallback by amount (|delta| < 100 paise) and date (within 2 days) where one
side has no UTR, and the remaining categories. Writes matches.csv, exceptions.csv and
rejects.csv, and prints one JSON line with the wall time and peak memory.

Differences from the engine, kept small on purpose: the fallback takes mutual best candidates
in one pass rather than the engine's greedy total order, and amount grouping is not validated.

Usage: python duckdb_recon.py --pg PG.csv --bank A.csv [--bank B.csv ...] --out DIR [--threads N]
"""

import argparse
import json
import os
import resource
import time

import duckdb

_T = time.perf_counter()


def _lap(label):
    global _T
    if os.environ.get("PEER_TRACE"):
        now = time.perf_counter()
        print(f"{label}: {(now - _T) * 1000:.0f} ms", flush=True)
        _T = now

LAYOUTS = {
    "hdfc": dict(
        delim=",",
        header="Date,Narration,Chq./Ref.No.,Value Dt,Withdrawal Amt.,Deposit Amt.,Closing Balance",
        date=3, fmts=["%d/%m/%Y", "%d/%m/%y"], narration=1, reference=2, credit=5, debit=4,
    ),
    "icici": dict(
        delim="|",
        header="S No.|Value Date|Transaction Date|Cheque Number|Transaction Remarks|"
        "Withdrawal Amount (INR )|Deposit Amount (INR )|Balance (INR )",
        date=1, fmts=["%Y-%m-%d"], narration=4, reference=3, credit=6, debit=5,
    ),
    "axis": dict(
        delim=",", header="Tran Date,CHQNO,PARTICULARS,DR,CR,BAL,SOL",
        date=0, fmts=["%d-%m-%Y"], narration=2, reference=1, credit=4, debit=3,
    ),
}

UTR_TOKEN = r"(?:^|[^A-Za-z0-9])([0-9]{12}|[A-Za-z]{4}[A-Za-z0-9]{12}|[A-Za-z]{4}[A-Za-z0-9]{18})(?:[^A-Za-z0-9]|$)"


def detect(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        for i, line in enumerate(f):
            if i >= 200:
                break
            text = line.lstrip("\ufeff").rstrip("\r\n").lower()
            for name, layout in LAYOUTS.items():
                if text.startswith(layout["header"].lower()):
                    return name, i + 1
    raise SystemExit(f"{path}: no known statement header")


def sql_str(s):
    return "'" + s.replace("'", "''") + "'"


def bank_sql(path, name, header_line):
    lay = LAYOUTS[name]
    d = lay["delim"]
    field_re = '("(?:[^"]|"")*"|[^' + ("\\|" if d == "|" else d) + "]*)" + ("\\|" if d == "|" else d)
    f = lambda i: f"trim(trim(fields[{i + 1}]), '\"')"
    # A two-digit year must not be read as year 26 AD: pick the format by the cell's length.
    cell = f(lay["date"])
    date = "CASE " + " ".join(
        f"WHEN length({cell}) = {8 if fmt.endswith('%y') else 10} THEN try_strptime({cell}, '{fmt}')" for fmt in lay["fmts"]
    ) + " END::DATE"
    amount = lambda i: f"CAST(round(TRY_CAST(replace({f(i)}, ',', '') AS DECIMAL(18,2)) * 100) AS BIGINT)"
    return f"""
    SELECT {sql_str(os.path.basename(path))} AS file, line, text,
           {date} AS value_date,
           {amount(lay['credit'])} AS credit, {amount(lay['debit'])} AS debit,
           {f(lay['credit'])} AS credit_text, {f(lay['debit'])} AS debit_text,
           {f(lay['narration'])} AS narration,
           upper(coalesce(nullif(regexp_extract({f(lay['reference'])}, '^0*([0-9]{{12}})$', 1), ''),
                          nullif(regexp_extract({f(lay['reference'])}, '{UTR_TOKEN}', 1), ''),
                          nullif(regexp_extract({f(lay['narration'])}, '{UTR_TOKEN}', 1), ''))) AS utr
    FROM (
        SELECT line, text,
               CASE WHEN contains(text, '"') THEN regexp_extract_all(text || {sql_str(d)}, {sql_str(field_re)}, 1)
                    ELSE string_split(text, {sql_str(d)}) END AS fields
        FROM (
            SELECT rtrim(l, chr(13)) AS text, i AS line
            FROM (SELECT unnest(parts) AS l, generate_subscripts(parts, 1) AS i
                  FROM (SELECT string_split(content, chr(10)) AS parts FROM read_text({sql_str(path)})))
        )
        WHERE line > {header_line} AND trim(text) <> ''
    )"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pg", required=True)
    ap.add_argument("--bank", action="append", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    started = time.perf_counter()
    con = duckdb.connect()
    _lap('step 1')
    con.execute(f"SET threads = {a.threads}")
    _lap('step 2')
    con.execute("SET preserve_insertion_order = false")

    _lap('step 3')
    con.execute(f"""
    CREATE TABLE pg AS
    SELECT txn_id, merchant_ref, amount_paise::BIGINT AS amount,
           upper(nullif(coalesce(regexp_extract(utr, '^0*([0-9]{{12}})$', 1), ''), '')) AS utr_digits, utr AS utr_raw,
           (captured_at AT TIME ZONE 'Asia/Kolkata')::DATE AS cap_date
    FROM read_csv({sql_str(a.pg)}, header = true, all_varchar = false, ignore_errors = true,
                  columns = {{'txn_id': 'VARCHAR', 'merchant_id': 'VARCHAR', 'merchant_ref': 'VARCHAR',
                             'method': 'VARCHAR', 'amount_paise': 'VARCHAR', 'status': 'VARCHAR',
                             'utr': 'VARCHAR', 'captured_at': 'TIMESTAMPTZ'}})
    WHERE status = 'captured' AND regexp_full_match(amount_paise, '[0-9]+')""")
    _lap('step 4')
    con.execute("""
    CREATE OR REPLACE TABLE pg AS
    SELECT txn_id, merchant_ref, amount, cap_date,
           coalesce(utr_digits, nullif(upper(regexp_extract(utr_raw, '^([A-Za-z]{4}[A-Za-z0-9]{12}|[A-Za-z]{4}[A-Za-z0-9]{18})$', 1)), '')) AS utr
    FROM pg""")

    parts = []
    for path in a.bank:
        name, header_line = detect(path)
        parts.append(bank_sql(path, name, header_line))
    _lap('step 5')
    con.execute("CREATE TABLE bank_lines AS " + " UNION ALL ".join(parts))
    # The summary block: lines after the last line whose date parses.
    _lap('step 6')
    con.execute("""
    CREATE TABLE bank_body AS
    SELECT b.* FROM bank_lines b
    JOIN (SELECT file, max(line) AS last FROM bank_lines WHERE value_date IS NOT NULL GROUP BY file) l
      ON b.file = l.file AND b.line <= l.last""")
    _lap('step 7')
    con.execute("""
    CREATE TABLE rejects AS
    SELECT file, line, CASE WHEN value_date IS NULL THEN 'unreadable date' ELSE 'unreadable amount' END AS reason, text AS raw
    FROM bank_body
    WHERE value_date IS NULL
       OR (credit_text <> '' AND credit IS NULL) OR (debit_text <> '' AND debit IS NULL)
       OR (coalesce(credit, 0) = 0) = (coalesce(debit, 0) = 0)""")
    _lap('step 8')
    con.execute("""
    CREATE TABLE bank AS
    SELECT file || ':' || line AS bank_ref, file, line, value_date, credit AS amount, utr, narration
    FROM bank_body
    WHERE value_date IS NOT NULL AND credit IS NOT NULL AND credit > 0 AND coalesce(debit, 0) = 0""")

    # UTR stage.
    _lap('step 9')
    con.execute("""
    CREATE TABLE utr_counts AS
    SELECT utr, sum(p) AS n_pg, sum(b) AS n_bank FROM (
        SELECT utr, 1 AS p, 0 AS b FROM pg WHERE utr IS NOT NULL
        UNION ALL SELECT utr, 0, 1 FROM bank WHERE utr IS NOT NULL) GROUP BY utr""")
    _lap('step 10')
    con.execute("""
    CREATE TABLE utr_pairs AS
    SELECT p.txn_id, b.bank_ref, p.utr, p.amount, b.amount - p.amount AS delta,
           1.0 + CASE WHEN abs(b.amount - p.amount) < 100 THEN 0.8 ELSE 0 END
               + CASE WHEN abs(b.value_date - p.cap_date) <= 1 THEN 0.6 ELSE 0 END
               + CASE WHEN p.merchant_ref <> '' AND contains(lower(b.narration), lower(p.merchant_ref)) THEN 0.7 ELSE 0 END AS points
    FROM pg p JOIN bank b ON p.utr = b.utr
    JOIN utr_counts c ON c.utr = p.utr AND c.n_pg = 1 AND c.n_bank = 1""")

    # Fallback stage over what is left.
    _lap('step 11')
    con.execute("""
    CREATE TABLE open_pg AS SELECT * FROM pg p
    WHERE p.utr IS NULL OR p.utr IN (SELECT utr FROM utr_counts WHERE n_pg + n_bank = 1)""")
    _lap('step 12')
    con.execute("""
    CREATE TABLE open_bank AS SELECT * FROM bank b
    WHERE b.utr IS NULL OR b.utr IN (SELECT utr FROM utr_counts WHERE n_pg + n_bank = 1)""")
    _lap('step 13')
    con.execute("""
    CREATE TABLE candidates AS
    SELECT p.txn_id, b.bank_ref, b.amount - p.amount AS delta, p.utr AS pg_utr, b.utr AS bank_utr,
           0.8 + CASE WHEN abs(b.value_date - p.cap_date) <= 1 THEN 0.6 ELSE 0 END
               + CASE WHEN p.merchant_ref <> '' AND contains(lower(b.narration), lower(p.merchant_ref)) THEN 0.7 ELSE 0 END AS points,
           abs(b.value_date - p.cap_date) AS gap
    FROM (SELECT *, unnest([amount // 100 - 1, amount // 100, amount // 100 + 1]) AS bucket FROM open_pg) p
    JOIN (SELECT *, amount // 100 AS bucket FROM open_bank) b ON b.bucket = p.bucket
    WHERE abs(b.amount - p.amount) < 100 AND abs(b.value_date - p.cap_date) <= 2
      AND (p.utr IS NULL OR b.utr IS NULL)""")
    _lap('step 14')
    con.execute("""
    CREATE TABLE fallback AS
    SELECT * FROM (
        SELECT *, row_number() OVER (PARTITION BY txn_id ORDER BY points DESC, abs(delta), gap, bank_ref) AS rp,
                  row_number() OVER (PARTITION BY bank_ref ORDER BY points DESC, abs(delta), gap, txn_id) AS rb
        FROM candidates) WHERE rp = 1 AND rb = 1""")

    _lap('step 15')
    con.execute(f"""
    COPY (
        SELECT txn_id, bank_ref, utr, amount, round(points / 3.1, 4) AS confidence, 'utr+amount' AS rules
        FROM utr_pairs WHERE abs(delta) < 100 AND points / 3.1 >= 0.75
        UNION ALL
        SELECT txn_id, bank_ref, coalesce(pg_utr, bank_utr), NULL, round(points / 3.1, 4), 'fallback'
        FROM fallback WHERE points / 3.1 >= 0.75
        ORDER BY txn_id
    ) TO {sql_str(os.path.join(a.out, 'matches.csv'))} (HEADER)""")
    _lap('step 16')
    con.execute(f"""
    COPY (
        SELECT 'DUPLICATE_UTR' AS category, c.utr AS key, c.n_pg, c.n_bank FROM utr_counts c WHERE c.n_pg > 1 OR c.n_bank > 1
        UNION ALL SELECT 'AMOUNT_MISMATCH', txn_id, 1, 1 FROM utr_pairs WHERE abs(delta) >= 100
        UNION ALL SELECT 'UNMATCHED_PG', txn_id, 1, 1 FROM utr_pairs WHERE abs(delta) < 100 AND points / 3.1 < 0.75
        UNION ALL SELECT 'UTR_MISSING', txn_id, 1, 1 FROM fallback WHERE points / 3.1 < 0.75
        UNION ALL SELECT CASE WHEN p.utr IS NULL THEN 'UTR_MISSING' ELSE 'UNMATCHED_PG' END, p.txn_id, 1, 0
            FROM open_pg p ANTI JOIN fallback f ON f.txn_id = p.txn_id
        UNION ALL SELECT CASE WHEN b.utr IS NULL THEN 'UTR_MISSING' ELSE 'UNMATCHED_BANK' END, b.bank_ref, 0, 1
            FROM open_bank b ANTI JOIN fallback f ON f.bank_ref = b.bank_ref
    ) TO {sql_str(os.path.join(a.out, 'exceptions.csv'))} (HEADER)""")
    _lap('step 17')
    con.execute(f"COPY (SELECT * FROM rejects ORDER BY file, line) TO {sql_str(os.path.join(a.out, 'rejects.csv'))} (HEADER)")
    _lap('step 18')
    counts = dict(con.execute("""
        SELECT 'matched', (SELECT count(*) FROM utr_pairs WHERE abs(delta) < 100 AND points / 3.1 >= 0.75)
                        + (SELECT count(*) FROM fallback WHERE points / 3.1 >= 0.75)
        UNION ALL SELECT 'pg', (SELECT count(*) FROM pg)
        UNION ALL SELECT 'bank', (SELECT count(*) FROM bank)""").fetchall())
    elapsed = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"peer": "duckdb", "version": duckdb.__version__, "threads": a.threads,
                      "wall_ms": round(elapsed * 1000, 1), "peak_rss_bytes": peak_kb * 1024, **counts}))


if __name__ == "__main__":
    main()
