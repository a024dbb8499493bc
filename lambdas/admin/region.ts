/**
 * The admin tool's region, resolved as the AWS SDK resolves it (AWS_REGION, then the region of the
 * profile in AWS_PROFILE, or `default`, from the shared config files), so that `npx sesame` works with
 * the same setup as the AWS CLI, not only with AWS_REGION.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** The region the SDK would use, or undefined when neither the environment nor the profile names one. */
export async function resolveRegion(): Promise<string | undefined> {
  const client = new DynamoDBClient({});
  try {
    return await client.config.region();
  } catch {
    return undefined;
  } finally {
    client.destroy();
  }
}
