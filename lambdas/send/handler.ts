// Placeholder: replaced by the send function.
export const handler = async (): Promise<never> => {
  throw new Error('not implemented yet');
};
