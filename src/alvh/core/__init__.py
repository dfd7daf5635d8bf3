"""The ground floor every layer may import: settings (one typed object, resolved once per
process) and where alvh's files live, errors, the XNYS calendar."""
