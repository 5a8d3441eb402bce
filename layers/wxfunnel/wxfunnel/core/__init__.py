"""What every function shares underneath the product: settings from the environment, AWS clients, logging and metrics, reading JSON fields."""
