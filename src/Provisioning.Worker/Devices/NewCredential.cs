using Provisioning.Worker.Mosquitto;

namespace Provisioning.Worker.Devices;

/// <summary>A fresh password and its Mosquitto hash, made before the rules run: hashing is the CPU-bound part of a batch.</summary>
public sealed record NewCredential(string Password, string PasswordHash)
{
    public static NewCredential Create(int hashIterations)
    {
        var password = CredentialGenerator.NewPassword();
        return new NewCredential(password, MosquittoPasswordHash.Create(password, hashIterations));
    }

    /// <summary><paramref name="count"/> credentials, hashed in parallel when there are enough to pay for it.</summary>
    public static NewCredential[] CreateMany(int count, int hashIterations)
    {
        var credentials = new NewCredential[count];
        if (count < 8)
        {
            for (var i = 0; i < count; i++)
            {
                credentials[i] = Create(hashIterations);
            }
        }
        else
        {
            Parallel.For(0, count, i => credentials[i] = Create(hashIterations));
        }

        return credentials;
    }

    /// <summary>Without the secrets: a record would print every property, and a password must never reach a log line.</summary>
    public override string ToString() => nameof(NewCredential);
}
