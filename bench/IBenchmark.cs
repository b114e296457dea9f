namespace Lcluster.Bench;

/// <summary>One benchmark of `make bench`: its figures for the table (bench/FigureTable.cs, which `make scale` shares).</summary>
internal interface IBenchmark
{
    string Name { get; }

    Task<IReadOnlyList<Figure>> RunAsync(BenchContext context, CancellationToken ct);
}
