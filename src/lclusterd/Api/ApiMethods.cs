namespace Lcluster.Daemon.Api;

/// <summary>The API's methods, one part per concern: what both the gRPC service and the HTTP routes call.</summary>
internal sealed record ApiMethods(JobsApi Jobs, ListingApi Listing, OutputApi Output, InputsApi Inputs, ArtifactsApi Artifacts);
