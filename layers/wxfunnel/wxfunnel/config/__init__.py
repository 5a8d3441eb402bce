"""App settings and rules: parsed once per configuration into one `AppConfig` (`app`), loaded from SSM (`loader`)."""
