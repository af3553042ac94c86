-- Version 3: deliveries are deduplicated by id alone, within a retention window. The
-- body-hash rule is dropped: the signature covers the id, so a captured body cannot be
-- replayed under another id, and two genuine deliveries may carry the same bytes (two
-- changes of an order in one second). Deliveries older than the window are pruned by
-- their receipt time.
DROP INDEX webhooks_body;
CREATE INDEX webhooks_received ON webhooks (received_at);
