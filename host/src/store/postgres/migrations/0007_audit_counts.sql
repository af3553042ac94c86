-- Version 7: the audit log's index by kind and time also holds the connection, so the
-- entries of a kind per connection and minute (the console's plot) are counted from the
-- index alone, however many there are.
DROP INDEX audit_kind_at;
CREATE INDEX audit_kind_at ON audit (kind, at, connection);

-- A job's payload without its top-level member `member` (what only its first attempt
-- reads), dropped as the attempt ends. A payload jsonb cannot take (a \u0000 in a text
-- field, or no JSON at all) is kept whole rather than failing the job's end.
CREATE FUNCTION payload_without(payload text, member text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN (payload::jsonb - member)::text;
EXCEPTION WHEN others THEN
    RETURN payload;
END
$$;
