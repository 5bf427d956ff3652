-- name: access.insert_user
-- description: Creates a user; the database accepts only a bcrypt or argon2id password hash and one account per
-- description: username and per email (whatever its case). Returns the user without the hash.
-- param: $1 username varchar = 'ada.lovelace'
-- param: $2 email varchar = 'ada@example.com'
-- param: $3 password_hash varchar = '$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW'
-- expect: no-seq-scan users
-- expect: max-rows 1
INSERT INTO
  agentry.users (username, email, password_hash)
VALUES
  ($1, $2, $3)
RETURNING
  id,
  username,
  email,
  created_at,
  last_login
