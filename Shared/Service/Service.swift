// Service — placeholder until implemented.
