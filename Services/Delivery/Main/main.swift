import DeliveryService
import Service

await ServiceMain.run(DeliveryService.self)
