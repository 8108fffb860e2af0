"""The portal simulator and the offline recount (pure, except the two CLI/Kafka tests)."""
