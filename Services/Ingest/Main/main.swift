import IngestService
import Service

await ServiceMain.run(IngestService.self)
