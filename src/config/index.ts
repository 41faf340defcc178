/** Configuration: one schema, read from wharf.yaml and WHARF_* variables. */
export { configSchema, type Config, type RawConfig, type StorageConfig } from './schema.ts';
export { loadConfig, ConfigError, envToObject, type LoadConfigOptions } from './load.ts';
