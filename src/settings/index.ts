/** Harbor's system settings (`/api/v2.0/configurations`): the catalog of keys and the service other modules read through ports. */
export { SystemSettings, type SystemSettingsDeps, type SettingsCallContext, type ConfigItemView } from './system-settings.ts';
export { settingsCatalog, settingKeys, settingSpec, parseSettingInput, storedSetting, projectCreationRestrictions, authModes, type ProjectCreationRestriction, type SettingKey, type SettingSpec, type SettingType, type SettingValue } from './catalog.ts';
