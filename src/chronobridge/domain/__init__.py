"""The pure core: no I/O, no clock, no database; the sync engine, the ingress and the store
call these with the data they read.

- `events`: the one `ChangeEvent` webhooks, polls, reconciliation and write-backs produce.
- `records`: a record version (id, `updated_at`, digest).
- `cursors`, `deletions`: incremental-sync cursor maths and deletion detection.
- `timezones`, `phones`: DrChrono's zone-less times and free-text phone numbers.
- `mappings`: the versioned mapping file and the practice model it produces (docs/mappings.md).
- `matching`: patient matching on blind-index keys.
- `writeback`: practice-model changes as DrChrono requests, and verdicts on the answers.
- `budget`, `backoff`, `retry_after`, `error_text`: the client's and the store's pure helpers.
"""
