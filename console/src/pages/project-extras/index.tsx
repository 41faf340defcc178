/**
 * C2's area: a project's webhooks, robot accounts and tag strategy, and the system robot
 * accounts. The pages load lazily (their own chunks) so the console's first page stays small.
 */
import { lazy, Suspense } from 'react';
import { Loading } from '../../components/common.tsx';
import type { ProjectTabProps } from './types.ts';

export type { ProjectTabProps } from './types.ts';

const Webhooks = lazy(() => import('./Webhooks.tsx').then((m) => ({ default: m.ProjectWebhooks })));
const Robots = lazy(() => import('./Robots.tsx').then((m) => ({ default: m.ProjectRobots })));
const SystemRobots = lazy(() => import('./Robots.tsx').then((m) => ({ default: m.SystemRobotsPage })));
const Strategy = lazy(() => import('./TagStrategy.tsx').then((m) => ({ default: m.TagStrategy })));

export function ProjectWebhooks(props: ProjectTabProps) {
  return (
    <Suspense fallback={<Loading label="Loading webhooks" />}>
      <Webhooks {...props} />
    </Suspense>
  );
}

export function ProjectRobots(props: ProjectTabProps) {
  return (
    <Suspense fallback={<Loading label="Loading robot accounts" />}>
      <Robots {...props} />
    </Suspense>
  );
}

export function TagStrategy(props: ProjectTabProps) {
  return (
    <Suspense fallback={<Loading label="Loading the tag strategy" />}>
      <Strategy {...props} />
    </Suspense>
  );
}

export function SystemRobotsPage() {
  return (
    <Suspense fallback={<Loading label="Loading robot accounts" />}>
      <SystemRobots />
    </Suspense>
  );
}
