/** The job framework: executions, tasks, leases and schedules for all background work. */
export { JobService, cronTypes, type Outcome, type JobContext, type JobHandler, type JobsConfig, type JobServiceDeps, type ScheduleView, type ExecutionView } from './job-service.ts';
export { nextRun, validateCron, cronProblem, presetCrons, type CronType } from './cron.ts';
export type { JobStatus, JobTrigger, JobTaskRow, JobExecutionRow, TaskCounts } from '../db/index.ts';
