// Mail — placeholder until implemented.
