/** The props every project tab of this area takes (C1's ProjectsArea passes them). */
export interface ProjectTabProps {
  projectId: number;
  projectName: string;
}
