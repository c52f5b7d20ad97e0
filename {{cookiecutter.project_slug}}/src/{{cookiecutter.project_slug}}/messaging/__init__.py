"""The message broker (RabbitMQ): its settings, and the one module that talks to it."""
