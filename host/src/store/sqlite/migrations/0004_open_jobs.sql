-- Version 4: an index of the jobs not done (done jobs are left out, so it stays as small
-- as the open queue), which makes counting the open queue for /metrics cheap however
-- many jobs are done.
CREATE INDEX jobs_open ON jobs (state) WHERE state <> 'done';
