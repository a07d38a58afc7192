import { storageOf } from './service-info';

describe('service-info storage', () => {
  it("lists the schemes sites fetch, every TES scheme for a site that takes any, and the broker's file roots", () => {
    expect(storageOf([], [])).toEqual([]);
    expect(storageOf(['https', 'http', 'S3', 'https'], [])).toEqual(['http://', 'https://', 's3://']);
    expect(storageOf(['*'], ['/data'])).toEqual([
      'az://',
      'drs://',
      'ftp://',
      'ftps://',
      'gs://',
      'http://',
      'https://',
      's3://',
      'sftp://',
      'file:///data',
    ]);
    // A site's own file system is not the broker's: file:// only under the broker's roots.
    expect(storageOf(['file', 'http'], [])).toEqual(['http://']);
  });
});
