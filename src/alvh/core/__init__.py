"""The ground floor every layer may import: settings (one typed object, resolved once per
process), errors, the XNYS calendar."""
