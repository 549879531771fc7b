export {
  ListingClient, type ListingClientComponents, type ListingClientOptions, type ContainerInfo, type AccountInfo,
  type ObjectUpdate, type ObjectListing, type ContainerListing, type ListOptions, type ListPage
} from './listing-client.ts'
