-- Placeholder: number 0004 is reserved for the key-value/sessions migration being written
-- in parallel (issue 17 item 1). Migration numbers must run 0001..N without a gap, so this
-- no-op keeps 0005 loadable until that migration lands; the real 0004 replaces this file
-- (delete this one when merging it).

SELECT 1;
