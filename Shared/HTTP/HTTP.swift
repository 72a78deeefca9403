// HTTP — placeholder until implemented.
