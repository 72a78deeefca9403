// Domain — placeholder until implemented.
