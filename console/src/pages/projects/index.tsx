/**
 * The projects area (Harbor's portal URLs under /harbor/projects): the list, and a project's pages
 * under /projects/:id/* (ProjectDetail.tsx). The heavier pages of a project are loaded on demand.
 */
import { Route, Routes } from 'react-router';
import { ProjectsList } from './ProjectsList.tsx';
import { ProjectDetail } from './ProjectDetail.tsx';

export function ProjectsArea() {
  return (
    <Routes>
      <Route index element={<ProjectsList />} />
      <Route path=":id/*" element={<ProjectDetail />} />
    </Routes>
  );
}
