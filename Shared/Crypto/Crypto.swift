// Crypto — placeholder until implemented.
