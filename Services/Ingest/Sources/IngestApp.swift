// IngestService
