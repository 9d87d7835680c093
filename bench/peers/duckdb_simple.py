"""The simple DuckDB peer: what a finance engineer would write over already-clean CSVs.

Reads the clean twin `settlepaisa gen --clean-twin` writes (`pg.csv`: captured transactions,
`bank.csv`: credits, each `utr,amount_paise,date`, parsed), then:
1. duplicate UTRs: a UTR on more than one record of a side;
2. exact UTR join of the rest, a match when the amounts agree, an amount mismatch otherwise;
3. a fallback for what is left: equal amount, dates at most a day apart, one-to-one (first by
   date gap, then by row order);
4. unmatched on both sides.
Writes matches.csv and a summary, and prints one JSON line with counts, wall time and peak memory.
No normalization, no messy input, no settlements: the peer `settlepaisa recon` is compared with in
`settlepaisa bench --simple-peer` (docs/benchmarks.md).

Usage: python duckdb_simple.py --pg pg.csv --bank bank.csv --out DIR [--threads N]
"""

import argparse
import json
import os
import resource
import time

import duckdb


def main():
    started = time.perf_counter()
    ap = argparse.ArgumentParser()
    ap.add_argument("--pg", required=True)
    ap.add_argument("--bank", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"SET threads = {a.threads}")
    columns = "{'utr': 'VARCHAR', 'amount_paise': 'BIGINT', 'date': 'DATE'}"
    for side, path in (("pg", a.pg), ("bank", a.bank)):
        con.execute(
            f"CREATE TABLE {side} AS SELECT row_number() OVER () AS id, * "
            f"FROM read_csv('{path}', header = true, columns = {columns})"
        )
    con.execute("""
        CREATE TABLE dup AS
        SELECT utr FROM pg WHERE utr IS NOT NULL GROUP BY utr HAVING count(*) > 1
        UNION
        SELECT utr FROM bank WHERE utr IS NOT NULL GROUP BY utr HAVING count(*) > 1
    """)
    con.execute("""
        CREATE TABLE utr_pairs AS
        SELECT p.id AS pg_id, b.id AS bank_id, p.amount_paise = b.amount_paise AS same_amount
        FROM pg p JOIN bank b USING (utr)
        WHERE utr NOT IN (SELECT utr FROM dup)
    """)
    con.execute("""
        CREATE TABLE open_pg AS
        SELECT * FROM pg
        WHERE id NOT IN (SELECT pg_id FROM utr_pairs) AND (utr IS NULL OR utr NOT IN (SELECT utr FROM dup))
    """)
    con.execute("""
        CREATE TABLE open_bank AS
        SELECT * FROM bank
        WHERE id NOT IN (SELECT bank_id FROM utr_pairs) AND (utr IS NULL OR utr NOT IN (SELECT utr FROM dup))
    """)
    # One-to-one on equal amount within a day, where at least one side has no UTR: each record's
    # best candidate, kept when the choice is mutual.
    con.execute("""
        CREATE TABLE fallback AS
        WITH candidates AS (
            SELECT p.id AS pg_id, b.id AS bank_id, abs(date_diff('day', p.date, b.date)) AS gap
            FROM open_pg p JOIN open_bank b USING (amount_paise)
            WHERE abs(date_diff('day', p.date, b.date)) <= 1 AND (p.utr IS NULL OR b.utr IS NULL)
        ),
        ranked AS (
            SELECT *,
                row_number() OVER (PARTITION BY pg_id ORDER BY gap, bank_id) AS pg_rank,
                row_number() OVER (PARTITION BY bank_id ORDER BY gap, pg_id) AS bank_rank
            FROM candidates
        )
        SELECT pg_id, bank_id FROM ranked WHERE pg_rank = 1 AND bank_rank = 1
    """)
    matches = os.path.join(a.out, "matches.csv")
    con.execute(f"""
        COPY (
            SELECT pg_id, bank_id, 'utr' AS rule FROM utr_pairs WHERE same_amount
            UNION ALL SELECT pg_id, bank_id, 'amount_date' FROM fallback
        ) TO '{matches}' (HEADER)
    """)
    counts = dict(zip(
        ["pg", "bank", "duplicate_utrs", "matched_utr", "amount_mismatch", "matched_fallback"],
        con.execute("""
            SELECT (SELECT count(*) FROM pg), (SELECT count(*) FROM bank), (SELECT count(*) FROM dup),
                   (SELECT count(*) FROM utr_pairs WHERE same_amount),
                   (SELECT count(*) FROM utr_pairs WHERE NOT same_amount),
                   (SELECT count(*) FROM fallback)
        """).fetchone(),
    ))
    counts["matched"] = counts["matched_utr"] + counts["matched_fallback"]
    counts["unmatched_pg"] = con.execute(
        "SELECT count(*) FROM open_pg WHERE id NOT IN (SELECT pg_id FROM fallback)").fetchone()[0]
    counts["unmatched_bank"] = con.execute(
        "SELECT count(*) FROM open_bank WHERE id NOT IN (SELECT bank_id FROM fallback)").fetchone()[0]
    with open(os.path.join(a.out, "summary.json"), "w") as f:
        json.dump(counts, f)
    elapsed = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"peer": "duckdb_simple", "version": duckdb.__version__, "threads": a.threads,
                      "wall_ms": round(elapsed * 1000, 1), "peak_rss_bytes": peak_kb * 1024, **counts}))


if __name__ == "__main__":
    main()
