import type { ProjectSummary } from "../projectData"

/** "Last changed by Uma User (by Sky Support while impersonating)": both identities of the last write. */
export function LastChange({ project }: { project: Pick<ProjectSummary, "changedBy" | "changedByActor"> }) {
  if (!project.changedBy) return <span className="hint">No changes recorded</span>
  return (
    <span className="last-change">
      Last changed by {project.changedBy.name}
      {project.changedByActor && <> (by {project.changedByActor.name} while impersonating)</>}
    </span>
  )
}
