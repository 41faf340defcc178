/** Administration pages (replaced by their pages). */
import { PageTitle } from '../../components/common.tsx';

export const AuditLogsPage = () => <PageTitle>Logs</PageTitle>;
export const UsersPage = () => <PageTitle>Users</PageTitle>;
export const RegistriesPage = () => <PageTitle>Registries</PageTitle>;
export const ReplicationsPage = () => <PageTitle>Replications</PageTitle>;
export const InterrogationPage = () => <PageTitle>Interrogation Services</PageTitle>;
export const LabelsPage = () => <PageTitle>Labels</PageTitle>;
export const ProjectQuotasPage = () => <PageTitle>Project Quotas</PageTitle>;
export const ClearingJobPage = () => <PageTitle>Clean Up</PageTitle>;
export const JobServicePage = () => <PageTitle>Job Service Dashboard</PageTitle>;
export const ConfigsPage = () => <PageTitle>Configuration</PageTitle>;
