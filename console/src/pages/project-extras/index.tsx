/** A project's webhooks, robot accounts and tag strategy; the system robot accounts (replaced by their pages). */
import { PageTitle } from '../../components/common.tsx';

export interface ProjectTabProps {
  projectId: number;
  projectName: string;
}

export function ProjectWebhooks(_: ProjectTabProps) {
  return <PageTitle>Webhooks</PageTitle>;
}
export function ProjectRobots(_: ProjectTabProps) {
  return <PageTitle>Robot Accounts</PageTitle>;
}
export function TagStrategy(_: ProjectTabProps) {
  return <PageTitle>Policy</PageTitle>;
}
export function SystemRobotsPage() {
  return <PageTitle>Robot Accounts</PageTitle>;
}
