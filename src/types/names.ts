/** How generated declarations are named; shared by the Kanel config and the hooks. */

/** TasksInitializer -> tasksInitializerSchema; TasksId -> tasksIdSchema. */
export function zodSchemaName(typeName: string): string {
  return `${typeName.charAt(0).toLowerCase()}${typeName.slice(1)}Schema`;
}
