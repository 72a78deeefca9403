// EventStore — placeholder until implemented.
