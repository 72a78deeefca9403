// Postgres — placeholder until implemented.
