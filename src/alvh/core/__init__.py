"""The ground floor every layer may import: settings, errors, the exchange calendar."""
