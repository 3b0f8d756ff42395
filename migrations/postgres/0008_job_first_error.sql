-- A job's first failure, kept when later tries fail differently (the console shows both: the
-- first says what went wrong, the last what still does).
ALTER TABLE jobs ADD COLUMN first_error TEXT;
