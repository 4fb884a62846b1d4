/**
 * The `task-workflow` skill: guidance added to a member's prompt when the builtin tools are on, so
 * the member keeps its private task list (`task_create`, `task_update`, `task_list`) while it works.
 */
export const TASK_WORKFLOW_SKILL: string = `## Skill: task-workflow

You have a private task list (only you can see it): task_create, task_get, task_list, task_update.

- When a request takes more than one or two steps, first split it into concrete tasks with task_create, one per step, each with a short title (add a description when the step needs detail).
- Work on one task at a time. Set it to in_progress with task_update when you start it, and to completed as soon as it is done; put what you found or produced in notes.
- If a task turns out to be unnecessary or impossible, set it to cancelled and say why in notes. Add new tasks as you discover more work.
- Before you give your final answer, call task_list and make sure nothing is left pending or in_progress: finish it, or cancel it with a reason.
- Keep the list honest: a task is completed only when its work is actually done.
`;
