-- 003's (topic, seq) index: since 004, ordered reads go by (topic, txid, seq) or (txid, seq) and
-- nothing reads this one, while every stored event still paid for an entry in it.
DROP INDEX IF EXISTS idx_events_topic_seq;
