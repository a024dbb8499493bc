// Placeholder until its issue lands: the stack needs an entry point to bundle.
export const handler = async (): Promise<never> => {
  throw new Error('not implemented yet');
};
