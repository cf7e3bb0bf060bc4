"""Control's pages, one module per part: cases (ledger, case page, status, team, check-ins), transfers
(quarantine sites, closed-loop transfers and their board) and care (tests, supplies, the doctor's list,
the daily report)."""
