import type { MigrationList } from '@constellation/persistence';
import { AuthAndTasks1764000100000 } from './1764000100000-AuthAndTasks';
import { RegistryTables1764000200000 } from './1764000200000-RegistryTables';
import { TaskDispatch1764000300000 } from './1764000300000-TaskDispatch';
import { ListIndexCoversState1764000400000 } from './1764000400000-ListIndexCoversState';
import { TaskInputContent1764000600000 } from './1764000600000-TaskInputContent';
import { TaskIdempotencyKey1764000700000 } from './1764000700000-TaskIdempotencyKey';
import { SiteImageSettings1764000800000 } from './1764000800000-SiteImageSettings';
import { AbandonedCopies1764000900000 } from './1764000900000-AbandonedCopies';
import { SiteSchemes1764000950000 } from './1764000950000-SiteSchemes';
import { TrackPacing1765000100000 } from './1765000100000-TrackPacing';
import { TaskDelivery1765000200000 } from './1765000200000-TaskDelivery';
import { JobFilesInDatabase1765000201000 } from './1765000201000-JobFilesInDatabase';
import { SiteSelfTest1765000400000 } from './1765000400000-SiteSelfTest';
import { TaskSearchIndexes1765000600000 } from './1765000600000-TaskSearchIndexes';
import { TaskEventLoggedAt1765000601000 } from './1765000601000-TaskEventLoggedAt';
import { RunTimeEstimates1765000700000 } from './1765000700000-RunTimeEstimates';
import { PrincipalHomeDataStore1765000701000 } from './1765000701000-PrincipalHomeDataStore';
import { TaskSiteDueIndex1765001000000 } from './1765001000000-TaskSiteDueIndex';
import { DataStoreHeadSignedUrls1765001400000 } from './1765001400000-DataStoreHeadSignedUrls';
import { SiteTracking1765001500000 } from './1765001500000-SiteTracking';
import { SiteRequestBudget1765002200000 } from './1765002200000-SiteRequestBudget';
import { TaskSentAttempt1765002700000 } from './1765002700000-TaskSentAttempt';
import { TaskTakeBacks1765003300000 } from './1765003300000-TaskTakeBacks';
import { DeliveredOutputs1765003500000 } from './1765003500000-DeliveredOutputs';
import { TaskFillfactor1765004100000 } from './1765004100000-TaskFillfactor';
import { TaskSubmitDueIndex1765004101000 } from './1765004101000-TaskSubmitDueIndex';
import { TaskTrackDueIndex1765004102000 } from './1765004102000-TaskTrackDueIndex';
import { LocalityDemand1765004200000 } from './1765004200000-LocalityDemand';

/** Applied in order of their timestamps; never edit one that has been applied anywhere. */
export const MIGRATIONS: MigrationList = [
  AuthAndTasks1764000100000,
  RegistryTables1764000200000,
  TaskDispatch1764000300000,
  ListIndexCoversState1764000400000,
  TaskInputContent1764000600000,
  TaskIdempotencyKey1764000700000,
  SiteImageSettings1764000800000,
  AbandonedCopies1764000900000,
  SiteSchemes1764000950000,
  TrackPacing1765000100000,
  TaskDelivery1765000200000,
  JobFilesInDatabase1765000201000,
  SiteSelfTest1765000400000,
  TaskSearchIndexes1765000600000,
  TaskEventLoggedAt1765000601000,
  RunTimeEstimates1765000700000,
  PrincipalHomeDataStore1765000701000,
  TaskSiteDueIndex1765001000000,
  DataStoreHeadSignedUrls1765001400000,
  SiteTracking1765001500000,
  SiteRequestBudget1765002200000,
  TaskSentAttempt1765002700000,
  TaskTakeBacks1765003300000,
  DeliveredOutputs1765003500000,
  TaskFillfactor1765004100000,
  TaskSubmitDueIndex1765004101000,
  TaskTrackDueIndex1765004102000,
  LocalityDemand1765004200000,
];
