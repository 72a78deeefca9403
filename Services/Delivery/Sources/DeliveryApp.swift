// DeliveryService
