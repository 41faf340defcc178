/** The built-in scanner's vulnerability database: OSV records in Wharf's database, their import and update, and matching. */
export { VulnDb, importBatchSize, type ImportResult, type ImportOptions, type UpdateOptions, type VulnDbMeta, type VulnDbDeps } from './vulndb.ts';
export { osEcosystem, osvKeyOf, ubuntuEcosystem, type OsvKey } from './ecosystems.ts';
export { severityFromWord, scoreVector, ratingOf, findingSeverity, type CvssScore } from './severity.ts';
export { parseRecord, normalizePypiName, type CompactAdvisory, type CompactAffected, type ParsedRecord } from './osv.ts';
export { vulndbUpdateJob, vulndbScheduleOf, vulndbUpdateType } from './update-job.ts';
