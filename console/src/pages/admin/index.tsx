/**
 * The administration area (system admins): each page is its own chunk, loaded when first opened
 * (React.lazy), so the console's initial JavaScript does not carry them. The names are the ones
 * App.tsx routes to.
 */
import { lazy, Suspense, type ComponentType } from 'react';
import { Loading } from '../../components/common.tsx';

function page<K extends string>(load: () => Promise<Record<K, ComponentType>>, name: K): ComponentType {
  const Lazy = lazy(async (): Promise<{ default: ComponentType }> => ({ default: (await load())[name] }));
  function AdminPage() {
    return (
      <Suspense fallback={<Loading label="Loading the page" />}>
        <Lazy />
      </Suspense>
    );
  }
  AdminPage.displayName = name;
  return AdminPage;
}

export const AuditLogsPage = page(() => import('./AuditLogsPage.tsx'), 'AuditLogsPage');
export const UsersPage = page(() => import('./UsersPage.tsx'), 'UsersPage');
export const RegistriesPage = page(() => import('./RegistriesPage.tsx'), 'RegistriesPage');
export const ReplicationsPage = page(() => import('./ReplicationsPage.tsx'), 'ReplicationsPage');
export const InterrogationPage = page(() => import('./InterrogationPage.tsx'), 'InterrogationPage');
export const LabelsPage = page(() => import('./LabelsPage.tsx'), 'LabelsPage');
export const ProjectQuotasPage = page(() => import('./ProjectQuotasPage.tsx'), 'ProjectQuotasPage');
export const ClearingJobPage = page(() => import('./ClearingJobPage.tsx'), 'ClearingJobPage');
export const JobServicePage = page(() => import('./JobServicePage.tsx'), 'JobServicePage');
export const ConfigsPage = page(() => import('./ConfigsPage.tsx'), 'ConfigsPage');
