-- Placeholder: number 0006 belongs to the audit hash-chain migration (issue #19, item 1),
-- built on another branch. It keeps 0001..0007 contiguous on this branch; when the two
-- branches merge, this file is deleted in favour of the real 0006.
SELECT 1;
