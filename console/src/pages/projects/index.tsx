/** Projects (replaced by the projects pages). */
import { PageTitle } from '../../components/common.tsx';

export function ProjectsArea() {
  return <PageTitle>Projects</PageTitle>;
}
